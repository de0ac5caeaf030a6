// Every open stream's controller, shared by the two route handlers. Route modules may be
// bundled apart, so the set lives on globalThis (one process, one set).
const encoder = new TextEncoder();
globalThis.kehaiBenchStreams ??= new Set();
globalThis.kehaiBenchNextId ??= 1;

export const streams = globalThis.kehaiBenchStreams;

export function frame(body) {
  const id = globalThis.kehaiBenchNextId++;
  const data = body.split("\n").map((line) => `data: ${line}\n`).join("");
  return encoder.encode(`id: ${id}\n${data}\n`);
}

export const hello = encoder.encode("retry: 2000\ndata: hello\n\n");
