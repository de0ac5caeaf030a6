import { hello, streams } from "../streams.js";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

// GET /sse: a ReadableStream per client, registered until the client goes away.
export async function GET(request) {
  let controller;
  const stream = new ReadableStream({
    start(c) {
      controller = c;
      streams.add(c);
      c.enqueue(hello);
    },
    cancel() {
      streams.delete(controller);
    },
  });
  request.signal.addEventListener("abort", () => streams.delete(controller));
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}
