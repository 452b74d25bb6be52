/**
 * The door page (/door) for ushers: sign in with a staff (or admin) account, optionally choose
 * the show being admitted, then type, paste or scan ticket codes and see a big green "Admit"
 * or red "Do not admit" with the reason. A handheld scanner is a keyboard that types the code
 * and Enter, so it needs nothing of its own; the camera works where BarcodeDetector exists.
 */
import { client, onAuthChange } from './api.ts';
import { recentLine, renderAnswer, type Answer } from './door-answer.ts';
import { setUpCamera } from './door-camera.ts';
import { checkIn } from './door-checkin.ts';
import { setUpShowPicker } from './door-shows.ts';

function byId<T extends HTMLElement>(id: string, type: abstract new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`door.html has no <${type.name}> #${id}`);
  return found;
}

const els = {
  loading: byId('loading', HTMLElement),
  who: byId('who', HTMLElement),
  signOut: byId('sign-out', HTMLButtonElement),
  signInSection: byId('sign-in', HTMLElement),
  signInForm: byId('sign-in-form', HTMLFormElement),
  signInMessage: byId('sign-in-message', HTMLElement),
  email: byId('email', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  door: byId('door', HTMLElement),
  form: byId('check-in-form', HTMLFormElement),
  code: byId('code', HTMLInputElement),
  answer: byId('answer', HTMLElement),
  recent: byId('recent', HTMLOListElement),
};

const RECENT_SCANS = 6;
const ONLY_STAFF = 'only staff or admin accounts can check tickets in';

const picker = setUpShowPicker({
  details: byId('show-pick', HTMLDetailsElement),
  current: byId('show-current', HTMLElement),
  theatre: byId('theatre', HTMLSelectElement),
  show: byId('show', HTMLSelectElement),
  message: byId('show-message', HTMLElement),
});

/** Who is signed in here, once known (the role decides whether this page can work for them). */
let user: { name: string; role: string } | undefined;
/** Set while this page signs out on purpose, so the sign-out is not reported as "your sign-in ended". */
let leaving = false;
let stopCamera: () => void = () => undefined;

function showSignIn(message = ''): void {
  stopCamera();
  user = undefined;
  els.loading.hidden = true;
  els.door.hidden = true;
  els.who.hidden = true;
  els.signOut.hidden = client.tokens === undefined;
  els.signInSection.hidden = false;
  els.signInMessage.textContent = message;
  els.email.focus();
}

function showDoor(signedIn: { name: string; role: string }): void {
  user = signedIn;
  els.loading.hidden = true;
  els.signInSection.hidden = true;
  els.signInMessage.textContent = '';
  els.who.textContent = signedIn.name;
  els.who.title = `${signedIn.name} (${signedIn.role})`;
  els.who.hidden = false;
  els.signOut.hidden = false;
  els.door.hidden = false;
  renderAnswer(els.answer, { kind: 'ready' });
  els.code.focus();
  void picker.refresh();
}

const customerMessage = (name: string) => `${name} is a customer account: ${ONLY_STAFF}. Sign in with a staff account.`;

/** On load: a stored sign-in (perhaps from the booking pages) is used if it is staff's. */
async function start(): Promise<void> {
  if (client.tokens === undefined) {
    showSignIn();
    return;
  }
  const me = await client.api.GET('/api/v1/me').catch(() => undefined);
  if (me === undefined) {
    showSignIn('Cannot reach the server: check the connection and reload.');
    return;
  }
  if (me.data === undefined) {
    showSignIn(me.response.status === 401 ? 'Your sign-in ended: sign in again.' : `Could not check your sign-in: ${me.error.detail}`);
    return;
  }
  if (me.data.role === 'customer') {
    // Not signed out here: this sign-in may be the booking pages' (same origin, same storage).
    showSignIn(customerMessage(me.data.name));
    return;
  }
  showDoor(me.data);
}

els.signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void signIn();
});

async function signIn(): Promise<void> {
  const email = els.email.value.trim();
  const password = els.password.value;
  if (email === '' || password === '') {
    els.signInMessage.textContent = 'Enter your email and password.';
    return;
  }
  els.signInMessage.textContent = 'Signing in…';
  const result = await client.login({ email, password }).catch(() => undefined);
  if (result === undefined) {
    els.signInMessage.textContent = 'Cannot reach the server: check the connection and try again.';
    return;
  }
  if (result.data === undefined) {
    const status = result.response.status;
    els.signInMessage.textContent =
      status === 401 ? 'Wrong email or password.' : status === 429 ? 'Too many attempts: wait a minute, then try again.' : `Could not sign in: ${result.error.detail}`;
    return;
  }
  els.password.value = '';
  const signedIn = result.data.user;
  if (signedIn.role === 'customer') {
    // This door device should not stay signed in as a customer who can do nothing here.
    leaving = true;
    await client.logout().catch(() => undefined);
    leaving = false;
    showSignIn(customerMessage(signedIn.name));
    return;
  }
  showDoor(signedIn);
}

els.signOut.addEventListener('click', () => {
  void (async () => {
    leaving = true;
    // Forget the tokens even when the server cannot be told (logout() drops them first).
    await client.logout().catch(() => undefined);
    leaving = false;
    showSignIn('Signed out.');
  })();
});

onAuthChange((signedIn) => {
  // The client dropped the tokens by itself: a refresh failed, the sign-in is over.
  if (!signedIn && !leaving && user !== undefined) showSignIn('Your sign-in ended: sign in again.');
});

/** Scans are answered one at a time, in order: a scanner may send the next code before the last answer. */
let queue: Promise<void> = Promise.resolve();

function vibrate(answer: Answer): void {
  if (!('vibrate' in navigator)) return;
  // A second signal besides colour and text, for a usher looking at the queue, not the screen.
  navigator.vibrate(answer.kind === 'admit' ? 80 : [200, 100, 200]);
}

async function scan(code: string, from: 'keyboard' | 'camera'): Promise<void> {
  renderAnswer(els.answer, { kind: 'checking' });
  const answer = await checkIn(code, picker.showId());
  const at = new Date();
  renderAnswer(els.answer, answer, at);
  vibrate(answer);
  const line = recentLine(answer, at);
  if (line !== undefined) {
    els.recent.prepend(line);
    while (els.recent.children.length > RECENT_SCANS) els.recent.lastElementChild?.remove();
  }
  if (answer.kind === 'signed-out') {
    showSignIn('Your sign-in ended: sign in again, then scan the ticket again.');
    return;
  }
  // After the camera the keyboard should not pop up over the answer; after typing, the next scan goes straight in.
  if (from === 'keyboard') els.code.focus();
}

function submit(raw: string, from: 'keyboard' | 'camera'): void {
  // Scanners and pasting bring stray spaces, tabs and line breaks: a code never has any.
  const code = raw.replace(/\s+/g, '');
  if (code === '') return;
  // A scan that throws (a bug, not a refusal) must not jam the queue for every later scan.
  queue = queue
    .then(() => scan(code, from))
    .catch((err: unknown) => renderAnswer(els.answer, { kind: 'error', detail: err instanceof Error ? err.message : String(err) }));
}

els.form.addEventListener('submit', (event) => {
  event.preventDefault();
  submit(els.code.value, 'keyboard');
  els.code.value = '';
  els.code.focus();
});

void setUpCamera(
  {
    start: byId('camera-start', HTMLButtonElement),
    stop: byId('camera-stop', HTMLButtonElement),
    note: byId('camera-note', HTMLElement),
    video: byId('camera-video', HTMLVideoElement),
  },
  (code) => submit(code, 'camera'),
).then((stop) => {
  stopCamera = stop;
});

void start();
