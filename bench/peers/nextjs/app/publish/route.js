import { frame, streams } from "../streams.js";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

// POST /publish: the body as one SSE event to every open stream.
export async function POST(request) {
  const data = frame(await request.text());
  for (const c of streams) {
    try {
      c.enqueue(data);
    } catch {
      streams.delete(c);
    }
  }
  return new Response(null, { status: 204 });
}
