// How the gateway writes server frames: framed once, written straight to the
// connection, and coalesced per socket until the process would wait.
//
// A fan-out sends the same frame to many sockets. `ws.send` frames it again for
// each one (a header buffer, an options object, cork, two writes, uncork: a
// `writev` per socket). A server frame is never masked, so its bytes are the
// same for every socket: frame it once and write that one buffer to each TCP
// stream. And a socket that gets several frames in one pass (a batch of events
// for a busy room) gets them in one syscall: the first write corks the stream
// and the streams are uncorked together once the current work and its
// microtasks are done (process.nextTick), before the process waits for I/O.
//
// Writing beside ws is safe because nothing of ws's is pending on the stream
// between its own writes: without permessage-deflate (gateway.ts disables it)
// and without Blob payloads ws writes every frame synchronously, so frames
// never interleave. ws's `bufferedAmount` counts what waits in the stream, so
// the slow-socket limit still sees these bytes.

import type { Duplex } from 'node:stream';
import * as ws from 'ws';

// ws exports its frame encoder (used by its own Sender) but @types/ws does not
// declare it; socket-output.int.spec.ts checks the bytes against ws's receiver.
const { Sender } = ws as unknown as {
  Sender: {
    frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
  };
};

const textOpcode = 0x1;

/** A whole unmasked WebSocket text frame carrying `text`. */
export function textFrame(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), { fin: true, opcode: textOpcode, mask: false, readOnly: false, rsv1: false });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Writes frames to streams, one syscall per stream per pass (see above). */
export function createFrameWriter(): (stream: Duplex, frame: Buffer) => void {
  let corked: Duplex[] = [];
  const uncorkAll = () => {
    const streams = corked;
    corked = [];
    for (const stream of streams) stream.uncork();
  };
  return (stream, frame) => {
    // ws corks only inside its own synchronous writes, so a corked stream here is one we corked.
    if (stream.writableCorked === 0) {
      stream.cork();
      if (corked.push(stream) === 1) process.nextTick(uncorkAll);
    }
    stream.write(frame);
  };
}
