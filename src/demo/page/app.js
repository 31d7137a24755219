// The chat page: plain JavaScript, no build step. Everything users wrote is put on the page with
// textContent, never as HTML. The protocol (JSON over /ws) is in docs/demo.md.

const $ = (id) => document.getElementById(id);
const NAME_KEY = 'wirekit-chat-name';
const MAX_ITEMS = 500;

const state = {
  socket: null,
  /** The name this tab joins (and rejoins after a reconnect) with; kept per tab. */
  name: sessionStorage.getItem(NAME_KEY) ?? '',
  me: null,
  users: new Map(),
  attempt: 0,
  rejoins: 0,
  askedWho: false,
};

function setStatus(kind, text) {
  const status = $('status');
  status.className = `status ${kind}`;
  status.textContent = text;
}

function send(message) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function connect() {
  setStatus('connecting', 'connecting…');
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.addEventListener('open', () => {
    state.attempt = 0;
    setStatus('online', 'online');
    if (state.name) send({ type: 'join', name: state.name });
    else showJoined(false);
  });
  socket.addEventListener('message', (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(data);
  });
  socket.addEventListener('close', (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    state.me = null;
    showJoined(false);
    reconnectLater(event.code === 1008 ? event.reason : '');
  });
}

/** Backoff: 0.5 s, 1 s, 2 s... up to 10 s between attempts, with jitter, counted down on screen. */
function reconnectLater(why) {
  const delay = Math.min(10_000, 500 * 2 ** state.attempt) * (0.75 + Math.random() / 2);
  state.attempt++;
  const until = Date.now() + delay;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) return connect();
    setStatus('offline', `${why ? `${why}: ` : ''}offline, reconnecting in ${left} s`);
    setTimeout(tick, Math.min(1000, until - Date.now()));
  };
  tick();
}

function handle(data) {
  switch (data.type) {
    case 'history':
      $('messages').replaceChildren();
      for (const message of data.messages) addMessage(message);
      break;
    case 'who':
      state.users = new Map(data.users.map((user) => [user.id, user.name]));
      renderUsers();
      if (state.askedWho)
        addNotice(`${data.users.length} online: ${data.users.map((u) => u.name).join(', ')}`);
      state.askedWho = false;
      break;
    case 'welcome':
      state.me = data.id;
      state.name = data.name;
      state.rejoins = 0;
      sessionStorage.setItem(NAME_KEY, data.name);
      showJoined(true);
      break;
    case 'join':
      state.users.set(data.id, data.name);
      renderUsers();
      addNotice(`${data.name} joined`);
      break;
    case 'leave':
      state.users.delete(data.id);
      renderUsers();
      addNotice(`${data.name} left`);
      break;
    case 'nick':
      state.users.set(data.id, data.name);
      if (data.id === state.me) {
        state.name = data.name;
        sessionStorage.setItem(NAME_KEY, data.name);
      }
      renderUsers();
      addNotice(`${data.previous} is now known as ${data.name}`);
      break;
    case 'message':
      addMessage(data);
      break;
    case 'error':
      onError(data);
      break;
  }
}

function onError(error) {
  if (state.me === null) {
    // Refused at join: ask for another name. After a reconnect the old session may still hold
    // the name for a moment (until the server notices it is gone): try again shortly.
    const rejoining = sessionStorage.getItem(NAME_KEY) === state.name;
    if (error.code === 'name-taken' && rejoining && state.rejoins++ < 5) {
      addNotice(`${error.message}; trying again in 3 s`, 'error');
      setTimeout(() => send({ type: 'join', name: state.name }), 3_000);
      return;
    }
    state.name = '';
    showJoined(false);
    $('name-error').textContent = error.message;
    return;
  }
  addNotice(error.message, 'error');
}

function append(item) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  while (list.childElementCount > MAX_ITEMS) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function addMessage(message) {
  const item = document.createElement('li');
  item.className = message.id === state.me ? 'message mine' : 'message';
  const time = document.createElement('time');
  const at = new Date(message.at);
  time.dateTime = at.toISOString();
  time.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = message.name;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  item.append(time, name, text);
  append(item);
}

function addNotice(text, kind = '') {
  const item = document.createElement('li');
  item.className = `notice ${kind}`.trim();
  item.textContent = text;
  append(item);
}

function renderUsers() {
  const users = [...state.users].sort((a, b) => a[1].localeCompare(b[1]));
  $('users').replaceChildren(
    ...users.map(([id, name]) => {
      const item = document.createElement('li');
      item.textContent = id === state.me ? `${name} (you)` : name;
      if (id === state.me) item.className = 'me';
      return item;
    }),
  );
  $('count').textContent = String(users.length);
}

function showJoined(joined) {
  $('name-form').hidden = joined;
  $('message-form').hidden = !joined;
  if (joined) {
    $('name-error').textContent = '';
    $('message').focus();
  } else if (!state.name) {
    $('name').focus();
  }
}

$('name-form').addEventListener('submit', (event) => {
  event.preventDefault();
  state.name = $('name').value.trim();
  $('name-error').textContent = '';
  sessionStorage.removeItem(NAME_KEY);
  send({ type: 'join', name: state.name });
});

$('message-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('message');
  const text = input.value.trim();
  if (!text) return;
  if (text === '/who') {
    state.askedWho = true;
    send({ type: 'who' });
  } else if (text.startsWith('/nick ')) send({ type: 'nick', name: text.slice(6) });
  else send({ type: 'message', text });
  input.value = '';
});

connect();
