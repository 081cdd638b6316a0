// Baseline 1: a bare `ws` room-broadcast server — what a chat app without
// Parley's log, processor and projections would run. Rooms are a
// Map<room, Set<socket>>; a posted message is parsed, given a per-room seq,
// serialised once and sent to every member with one ws.send each. The same
// message can be posted over REST (POST /api/v1/rooms/:id/messages, sender in
// `Authorization: Bearer <user id>`), for the end-to-end scenario.
//
//   node --expose-gc --import ./bench/support/server-hooks.ts bench/baselines/ws-server.ts
// Listens on 127.0.0.1:$PORT (0 = ephemeral) and prints {"msg":"listening","port":…}.

import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { announce, messageView, socketIdentity, type Posted } from './message.ts';

const rooms = new Map<string, Set<WebSocket>>();
const seqs = new Map<string, number>();

function broadcast(posted: Posted, senderId: string) {
  const members = rooms.get(posted.chat_room_id);
  const seq = (seqs.get(posted.chat_room_id) ?? 0) + 1;
  seqs.set(posted.chat_room_id, seq);
  const message = messageView(posted, seq, senderId);
  const frame = JSON.stringify({ type: 'NEW_MESSAGE', timestamp: Date.now(), data: message });
  if (members !== undefined) for (const socket of members) socket.send(frame);
  return message;
}

const server = http.createServer((request, response) => {
  const match = /^\/api\/v1\/rooms\/([^/]+)\/messages$/.exec(request.url ?? '');
  if (request.method !== 'POST' || match === null) {
    response.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as Omit<Posted, 'chat_room_id'>;
    const senderId = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    const message = broadcast({ ...body, chat_room_id: decodeURIComponent(match[1]!) }, senderId);
    const json = JSON.stringify(message);
    response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
  });
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (socket, request) => {
  const { rooms: joined, userId } = socketIdentity(request.url);
  for (const room of joined) {
    let members = rooms.get(room);
    if (members === undefined) rooms.set(room, (members = new Set()));
    members.add(socket);
  }
  socket.on('message', (raw) => {
    // A Buffer: ws's default binaryType is 'nodebuffer'.
    const frame = JSON.parse((raw as Buffer).toString()) as { type: string; data: Posted };
    if (frame.type === 'SEND_MESSAGE') broadcast(frame.data, userId);
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
  socket.on('error', () => undefined);
  socket.send(JSON.stringify({ type: 'AUTH_SUCCESS', timestamp: Date.now(), data: { user_id: userId } }));
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  announce(typeof address === 'object' && address !== null ? address.port : 0);
});
process.on('SIGTERM', () => process.exit(0));
