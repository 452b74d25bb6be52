import { client } from './api.ts';

const main = document.getElementById('main');
if (main !== null) main.textContent = client.tokens === undefined ? 'Marquee: signed out' : 'Marquee: signed in';
