// Parley's demo client: plain JavaScript, no build step, no library. It uses
// the public API only, as any client would: REST under /api/v1 for accounts,
// rooms, history and uploads, and one WebSocket on /ws for everything live
// (messages, typing, presence, read receipts). See docs/API.md.

const $ = (selector) => document.querySelector(selector);
const el = (tag, { dataset = {}, ...props } = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
};

const state = {
  token: null,
  me: null,
  socket: null,
  /** Room id → summary from GET /rooms. */
  rooms: new Map(),
  current: null,
  /** Messages of the open room, by id. */
  messages: new Map(),
  /** User id → display name. */
  names: new Map(),
  /** Members of the open room: user id → their read mark. */
  readMarks: new Map(),
  online: new Set(),
  /** User id → timer that clears their typing line. */
  typing: new Map(),
  lastTypingSent: 0,
};

// ---------------------------------------------------------------- REST

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(json?.error?.message ?? `${method} ${path}: ${response.status}`);
  return json;
}

/** A user's name and, when they let me see it, whether they are online now. */
async function loadProfile(userId) {
  const user = await api('GET', `/users/${userId}`);
  state.names.set(userId, user.display_name || user.username);
  if (user.status?.online) state.online.add(userId);
  else if (user.status) state.online.delete(userId);
}

async function nameOf(userId) {
  if (!state.names.has(userId)) await loadProfile(userId);
  return state.names.get(userId);
}

// ---------------------------------------------------------------- sign in and out

async function signedIn(session) {
  state.token = session.access_token;
  state.me = session.user;
  state.names.set(session.user.id, session.user.display_name || session.user.username);
  sessionStorage.setItem('parley-demo', JSON.stringify({ access_token: state.token, user: state.me }));
  $('#me').textContent = `@${state.me.username}`;
  $('#signed-out').hidden = true;
  $('#signed-in').hidden = false;
  connect();
  await Promise.all([loadRooms(), loadInvitations()]);
}

function bindAuthForm(form, path, bodyOf) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    $('#auth-error').textContent = '';
    try {
      await signedIn(await api('POST', path, bodyOf(new FormData(form))));
    } catch (error) {
      $('#auth-error').textContent = error.message;
    }
  });
}

bindAuthForm($('#register-form'), '/auth/register', (f) => ({
  username: f.get('username'),
  email: f.get('email'),
  password: f.get('password'),
}));
bindAuthForm($('#login-form'), '/auth/login', (f) => ({ login: f.get('login'), password: f.get('password') }));

$('#logout').addEventListener('click', () => {
  sessionStorage.removeItem('parley-demo');
  state.socket?.close();
  location.reload();
});

// ---------------------------------------------------------------- the socket

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.addEventListener('message', (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener('close', () => {
    setStatus('offline');
    // Reconnect, and catch up on the open room from its last seq.
    if (state.socket === socket) setTimeout(connect, 2000);
  });
}

const send = (type, data) => state.socket?.readyState === WebSocket.OPEN && state.socket.send(JSON.stringify({ type, data }));

function setStatus(status) {
  $('#status').textContent = status;
  $('#status').dataset.state = status;
}

function onFrame({ type, data }) {
  switch (type) {
    case 'AUTH_SUCCESS':
      setStatus('online');
      if (state.current) joinRoom(state.current);
      break;
    case 'NEW_MESSAGE':
    case 'MESSAGE_UPDATED':
    case 'MESSAGE_DELETED':
    case 'REACTION_UPDATED':
      onMessage(data);
      break;
    case 'TYPING':
      if (data.chat_room_id === state.current && data.user_id !== state.me.id) onTyping(data.user_id, data.is_typing);
      break;
    case 'READ_RECEIPT':
      if (data.chat_room_id === state.current) {
        state.readMarks.set(data.user_id, data.seq);
        renderReceipts();
      }
      break;
    case 'PRESENCE':
      if (data.online) state.online.add(data.user_id);
      else state.online.delete(data.user_id);
      renderMembers();
      break;
    case 'USERS':
      for (const id of data.users) state.online.add(id);
      renderMembers();
      break;
    case 'USER_JOINED':
      // Someone follows the room now: a member, and online.
      if (data.chat_room_id === state.current) {
        if (!state.readMarks.has(data.user_id)) state.readMarks.set(data.user_id, 0);
        state.online.add(data.user_id);
        void nameOf(data.user_id).then(renderMembers);
      }
      break;
    case 'ROOM_INVITE':
    case 'ROOM_INVITE_ENDED':
      void loadInvitations();
      break;
    case 'MEMBER_ADDED':
      void loadRooms();
      // From the frame itself: the read model may not show the new member yet.
      if (data.chat_room_id === state.current && !state.readMarks.has(data.user_id)) {
        state.readMarks.set(data.user_id, 0);
        void loadProfile(data.user_id).then(renderMembers);
      }
      break;
    case 'MEMBER_REMOVED':
      void loadRooms();
      if (data.chat_room_id === state.current) {
        state.readMarks.delete(data.user_id);
        renderMembers();
      }
      break;
    case 'ROOM_UPDATED':
      void loadRooms();
      break;
    case 'ERROR':
      $('#chat-error').textContent = data.message;
      break;
  }
}

// ---------------------------------------------------------------- rooms and invitations

async function loadRooms() {
  const { rooms } = await api('GET', '/rooms');
  state.rooms = new Map(rooms.map((room) => [room.id, room]));
  renderRooms();
}

function renderRooms() {
  $('#rooms').replaceChildren(
    ...[...state.rooms.values()].map((room) => {
      const open = el('button', { type: 'button', textContent: room.name || 'direct' });
      if (room.unread_count > 0 && room.id !== state.current)
        open.append(' ', el('span', { className: 'unread', textContent: room.unread_count }));
      open.addEventListener('click', () => openRoom(room.id));
      return el('li', { ariaCurrent: String(room.id === state.current), dataset: { roomId: room.id } }, open);
    }),
  );
}

async function loadInvitations() {
  const { invitations } = await api('GET', '/invitations');
  $('#invitations-section').hidden = invitations.length === 0;
  $('#invitations').replaceChildren(
    ...invitations.map((invitation) => {
      const accept = el('button', { type: 'button', textContent: 'Join' });
      accept.addEventListener('click', async () => {
        await api('POST', `/invitations/${invitation.chat_room_id}/accept`);
        await Promise.all([loadInvitations(), loadRooms()]);
      });
      return el('li', {}, `${invitation.room_name} `, accept);
    }),
  );
}

$('#new-room-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const usernames = String(form.get('members'))
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  try {
    const memberIds = [];
    for (const username of usernames) {
      const { users } = await api('GET', `/users?q=${encodeURIComponent(username)}&limit=10`);
      const user = users.find((u) => u.username === username);
      if (!user) throw new Error(`no user named ${username}`);
      memberIds.push(user.id);
    }
    const room = await api('POST', '/rooms', { name: form.get('name'), member_ids: memberIds });
    event.target.reset();
    await loadRooms();
    await openRoom(room.id);
  } catch (error) {
    $('#chat-error').textContent = error.message;
  }
});

// ---------------------------------------------------------------- the open room

async function openRoom(roomId) {
  state.current = roomId;
  state.messages.clear();
  state.typing.clear();
  $('#typing').textContent = '';
  $('#chat-error').textContent = '';
  $('#room-title').textContent = state.rooms.get(roomId)?.name || 'direct';
  $('#composer').hidden = false;
  renderRooms();
  await loadMembers(roomId);
  const { messages } = await api('GET', `/rooms/${roomId}/messages?limit=50`);
  $('#messages').replaceChildren();
  for (const message of messages.sort((a, b) => a.seq - b.seq)) await onMessage(message);
  joinRoom(roomId);
}

/** JOIN_ROOM from the last seq shown: the server replays what came after it. */
function joinRoom(roomId) {
  const seqs = [...state.messages.values()].map((m) => m.seq);
  send('JOIN_ROOM', seqs.length ? { chat_room_id: roomId, since_seq: Math.max(...seqs) } : { chat_room_id: roomId });
}

async function loadMembers(roomId) {
  const room = await api('GET', `/rooms/${roomId}`);
  state.readMarks = new Map(room.members.map((member) => [member.user_id, member.last_read_seq]));
  // Fresh profiles: names, and who is online right now (PRESENCE frames keep it current).
  await Promise.all(room.members.map((member) => loadProfile(member.user_id)));
  renderMembers();
  renderReceipts();
}

function renderMembers() {
  $('#members').replaceChildren(
    ...[...state.readMarks.keys()].map((userId) =>
      el('li', {
        className: state.online.has(userId) || userId === state.me.id ? 'online' : '',
        textContent: state.names.get(userId) ?? userId,
        dataset: { userId },
      }),
    ),
  );
}

async function onMessage(message) {
  if (message.room_id !== state.current) {
    void loadRooms(); // the unread count moved
    return;
  }
  await nameOf(message.sender_id);
  state.messages.set(message.id, message);
  let item = document.querySelector(`#messages li[data-id="${message.id}"]`);
  const fresh = el(
    'li',
    { dataset: { id: message.id, seq: message.seq } },
    el('span', { className: 'sender', textContent: state.names.get(message.sender_id) }),
    el('span', { className: 'content', textContent: message.content ?? '(deleted)' }),
    el('span', { className: 'seen' }),
    ...message.attachments.map((a) =>
      a.mime_type.startsWith('image/')
        ? el('img', { src: a.url, alt: a.name ?? 'image' })
        : el('a', { href: a.url, textContent: a.name ?? 'file' }),
    ),
  );
  if (item) item.replaceWith(fresh);
  else {
    const later = [...document.querySelectorAll('#messages li')].find((li) => Number(li.dataset.seq) > message.seq);
    $('#messages').insertBefore(fresh, later ?? null);
  }
  $('#messages').scrollTop = $('#messages').scrollHeight;
  onTyping(message.sender_id, false);
  renderReceipts();
  // Read what is on screen.
  if (message.sender_id !== state.me.id && (state.readMarks.get(state.me.id) ?? 0) < message.seq) {
    state.readMarks.set(state.me.id, message.seq);
    send('READ_RECEIPT', { chat_room_id: state.current, seq: message.seq });
  }
}

/** "Seen by …" under the newest message each other member has read. */
function renderReceipts() {
  for (const span of document.querySelectorAll('#messages .seen')) span.textContent = '';
  const items = [...document.querySelectorAll('#messages li')];
  for (const [userId, seq] of state.readMarks) {
    if (userId === state.me.id || seq === 0) continue;
    const item = items.filter((li) => Number(li.dataset.seq) <= seq).at(-1);
    const seen = item?.querySelector('.seen');
    if (seen) seen.textContent = `${seen.textContent ? `${seen.textContent}, ` : 'seen by '}${state.names.get(userId) ?? userId}`;
  }
}

function onTyping(userId, isTyping) {
  clearTimeout(state.typing.get(userId));
  state.typing.delete(userId);
  // The server sends no stop when a typist goes quiet: the line clears itself.
  if (isTyping)
    state.typing.set(
      userId,
      setTimeout(() => onTyping(userId, false), 6000),
    );
  const names = [...state.typing.keys()].map((id) => state.names.get(id) ?? id);
  $('#typing').textContent = names.length ? `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…` : '';
}

$('#composer input[name="content"]').addEventListener('input', () => {
  if (Date.now() - state.lastTypingSent < 2000) return;
  state.lastTypingSent = Date.now();
  send('TYPING', { chat_room_id: state.current, is_typing: true });
});

$('#composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const content = form.elements.content.value.trim();
  const file = form.elements.file.files[0];
  if (!content && !file) return;
  $('#chat-error').textContent = '';
  try {
    const attachments = file ? [await upload(file, state.current)] : [];
    send('SEND_MESSAGE', {
      chat_room_id: state.current,
      client_msg_id: crypto.randomUUID(),
      content: content || file.name,
      attachments,
    });
    state.lastTypingSent = 0;
    send('TYPING', { chat_room_id: state.current, is_typing: false });
    form.reset();
  } catch (error) {
    $('#chat-error').textContent = error.message;
  }
});

$('#composer input[name="file"]').addEventListener('change', (event) => {
  const file = event.target.files[0];
  $('#composer input[name="content"]').placeholder = file ? `Attach ${file.name}: add a caption` : 'Message';
});

// ---------------------------------------------------------------- uploads

/** Sign, send the bytes to the storage, and answer the attachment for SEND_MESSAGE. */
async function upload(file, roomId) {
  const mimeType = file.type || 'application/octet-stream';
  const signed = await api('POST', '/uploads/sign', {
    purpose: 'attachment',
    room_id: roomId,
    mime_type: mimeType,
    bytes: file.size,
  });
  let ready;
  if (signed.provider === 'local') {
    // Same origin, whatever host the server names in upload_url.
    const target = new URL(signed.upload_url);
    for (const [name, value] of Object.entries(signed.fields)) target.searchParams.set(name, value);
    const response = await fetch(`${target.pathname}${target.search}`, {
      method: 'POST',
      headers: { 'content-type': mimeType },
      body: file,
    });
    if (!response.ok) throw new Error(`upload refused: ${response.status}`);
    ready = await response.json();
  } else {
    const form = new FormData();
    for (const [name, value] of Object.entries(signed.fields)) form.append(name, value);
    form.append('file', file);
    const response = await fetch(signed.upload_url, { method: 'POST', body: form });
    if (!response.ok) throw new Error(`upload refused: ${response.status}`);
    for (let tries = 0; !ready && tries < 30; tries++) {
      const status = await api('GET', `/uploads/${signed.upload_id}`);
      if (status.status === 'ready') ready = status;
      else if (status.status === 'rejected') throw new Error('the upload was rejected');
      else await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (!ready) throw new Error('the upload did not become ready');
  }
  return { url: ready.url, mime_type: ready.mime_type, bytes: ready.bytes, name: file.name };
}

// ---------------------------------------------------------------- start

const saved = sessionStorage.getItem('parley-demo');
if (saved) {
  signedIn(JSON.parse(saved)).catch(() => {
    sessionStorage.removeItem('parley-demo');
    location.reload();
  });
}
