// Baseline 2: Socket.IO 4 with rooms, websocket transport only, defaults
// otherwise. Sockets join their rooms in a middleware (before the CONNECT
// ack); a posted message goes out with io.to(room).emit, which encodes the
// packet once and writes it to every member.
//
//   node --expose-gc --import ./bench/support/server-hooks.ts bench/baselines/sio-server.ts
// Listens on 127.0.0.1:$PORT (0 = ephemeral) and prints {"msg":"listening","port":…}.

import http from 'node:http';
import { Server } from 'socket.io';
import { announce, messageView, socketIdentity, type Posted } from './message.ts';

const seqs = new Map<string, number>();
const server = http.createServer();
const io = new Server(server, { transports: ['websocket'], serveClient: false });

io.use((socket, next) => {
  const { rooms } = socketIdentity(socket.request.url);
  for (const room of rooms) void socket.join(room);
  next();
});
io.on('connection', (socket) => {
  const { userId } = socketIdentity(socket.request.url);
  socket.on('SEND_MESSAGE', (posted: Posted) => {
    const seq = (seqs.get(posted.chat_room_id) ?? 0) + 1;
    seqs.set(posted.chat_room_id, seq);
    io.to(posted.chat_room_id).emit('NEW_MESSAGE', messageView(posted, seq, userId));
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  announce(typeof address === 'object' && address !== null ? address.port : 0);
});
process.on('SIGTERM', () => process.exit(0));
