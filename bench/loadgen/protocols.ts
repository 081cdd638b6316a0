// The three wire protocols the load generator speaks, reduced to what it needs:
// when a socket is ready, how to send a chat message, and how to find the
// message number in a NEW_MESSAGE frame without parsing it. The message
// number travels in `client_msg_id` (a decimal integer); the receiver finds it
// with one indexOf from a fixed-prefix check, never JSON.parse.

import { intAfter, startsWithAt, type RawWs } from './raw-ws.ts';

export type Impl = 'parley' | 'ws' | 'sio';

export interface WireProtocol {
  /**
   * Handles a frame that is not a NEW_MESSAGE (handshake steps, pings).
   * Returns true once the socket is ready: authenticated (Parley), joined (ws),
   * connected to the namespace (Socket.IO).
   */
  control(ws: RawWs, buf: Buffer, start: number, end: number): boolean;
  /** The message number of a NEW_MESSAGE frame, or -1 for any other frame. */
  messageNumber(buf: Buffer, start: number, end: number): number;
  /** The frame a member sends to post message `n` in `roomId`. */
  sendFrame(roomId: string, n: number, content: string): string;
}

const clientMsgId = Buffer.from('"client_msg_id":"');

/** Parley and the bare ws baseline share the frame format `{"type":…,"data":…}`. */
function jsonFrames(): WireProtocol {
  const newMessage = Buffer.from('{"type":"NEW_MESSAGE"');
  const authSuccess = Buffer.from('{"type":"AUTH_SUCCESS"');
  return {
    control: (_ws, buf, start) => startsWithAt(buf, start, authSuccess),
    messageNumber: (buf, start, end) => (startsWithAt(buf, start, newMessage) ? intAfter(buf, start, end, clientMsgId) : -1),
    sendFrame: (roomId, n, content) =>
      `{"type":"SEND_MESSAGE","ref":"${n}","data":{"chat_room_id":"${roomId}","client_msg_id":"${n}","content":"${content}"}}`,
  };
}

/** Socket.IO 4 over its websocket transport: engine.io packets around socket.io ones. */
function socketIo(): WireProtocol {
  const newMessage = Buffer.from('42["NEW_MESSAGE"');
  const OPEN = 0x30; // '0'
  const PING = 0x32; // '2'
  const MESSAGE = 0x34; // '4'
  const CONNECT = 0x30; // '0' after '4': socket.io CONNECT ack
  return {
    control(ws, buf, start, end) {
      const first = buf[start];
      if (first === OPEN) {
        ws.sendText('40'); // connect to the main namespace
        return false;
      }
      if (first === PING && end - start === 1) {
        ws.sendText('3');
        return false;
      }
      return first === MESSAGE && buf[start + 1] === CONNECT;
    },
    messageNumber: (buf, start, end) => (startsWithAt(buf, start, newMessage) ? intAfter(buf, start, end, clientMsgId) : -1),
    sendFrame: (roomId, n, content) =>
      `42["SEND_MESSAGE",{"chat_room_id":"${roomId}","client_msg_id":"${n}","content":"${content}"}]`,
  };
}

export function protocolFor(impl: Impl): WireProtocol {
  return impl === 'sio' ? socketIo() : jsonFrames();
}
