/** Sign up and sign in (`#/signup`, `#/signin`), each then back to where the visitor was going (`next`). */
import { client, rememberUser, signedIn } from './api.ts';
import { h, notice, replace } from './dom.ts';
import { busy, pageHeading, type PageContext } from './page.ts';
import { problemOf, describeError, type Problem } from './problem.ts';
import { go, href, nextTarget } from './router.ts';

interface Field {
  name: string;
  label: string;
  type: string;
  autocomplete: string;
  hint?: string;
}

function field(f: Field): { row: HTMLElement; input: HTMLInputElement; error: HTMLElement } {
  const id = `f-${f.name}`;
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  const hint = f.hint === undefined ? null : h('p', { class: 'hint', id: `${id}-hint` }, f.hint);
  const input = h('input', {
    id,
    name: f.name,
    type: f.type,
    autocomplete: f.autocomplete,
    required: true,
    'aria-describedby': [hint === null ? '' : `${id}-hint`, `${id}-error`].join(' ').trim(),
  });
  return { row: h('div', { class: 'field' }, h('label', { for: id }, f.label), input, hint, error), input, error };
}

function authForm(ctx: PageContext, mode: 'signin' | 'signup'): void {
  const next = nextTarget(ctx.route.query);
  if (signedIn()) {
    go(next);
    return;
  }
  const fields: Field[] =
    mode === 'signup'
      ? [
          { name: 'name', label: 'Your name', type: 'text', autocomplete: 'name' },
          { name: 'email', label: 'Email', type: 'email', autocomplete: 'email' },
          { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters.' },
        ]
      : [
          { name: 'email', label: 'Email', type: 'email', autocomplete: 'email' },
          { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
        ];
  const built = new Map(fields.map((f) => [f.name, field(f)]));
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'primary' }, mode === 'signup' ? 'Create account' : 'Sign in');
  const form = h('form', { class: 'card auth-form', novalidate: true }, status, ...[...built.values()].map((b) => b.row), submit);
  const value = (name: string) => built.get(name)?.input.value ?? '';

  const showProblem = (problem: Problem) => {
    for (const b of built.values()) {
      b.error.textContent = '';
      b.input.removeAttribute('aria-invalid');
    }
    let first: HTMLInputElement | undefined;
    for (const e of problem.errors) {
      const b = built.get(e.path);
      if (b === undefined) continue;
      b.error.textContent = e.message;
      b.input.setAttribute('aria-invalid', 'true');
      first ??= b.input;
    }
    replace(status, notice('error', problem.detail));
    first?.focus();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const empty = fields.filter((f) => value(f.name).trim() === '');
    if (empty.length > 0) {
      showProblem({ status: 0, code: undefined, title: '', detail: 'Please fill in every field.', errors: empty.map((f) => ({ path: f.name, message: `Enter your ${f.label.toLowerCase().replace(/^your /, '')}.` })), unavailableSeatIds: [] });
      return;
    }
    busy(submit, mode === 'signup' ? 'Creating account…' : 'Signing in…', async () => {
      const result =
        mode === 'signup'
          ? await client.register({ name: value('name'), email: value('email'), password: value('password') })
          : await client.login({ email: value('email'), password: value('password') });
      if (result.data === undefined) {
        showProblem(problemOf(result.error, result.response));
        return;
      }
      rememberUser(result.data.user);
      go(next);
    }).catch((err: unknown) => replace(status, notice('error', describeError(err))));
  });

  const other =
    mode === 'signup'
      ? h('p', {}, 'Already have an account? ', h('a', { href: href('/signin', { next }) }, 'Sign in'))
      : h('p', {}, 'New to Marquee? ', h('a', { href: href('/signup', { next }) }, 'Create an account'));
  const why = next.startsWith('#/shows/') ? notice('info', 'Sign in to hold your seats. Your picked seats are kept.') : null;
  replace(ctx.view, h('section', { class: 'narrow' }, pageHeading(mode === 'signup' ? 'Create an account' : 'Sign in'), why, form, other));
}

export function signInPage(ctx: PageContext): Promise<void> {
  authForm(ctx, 'signin');
  return Promise.resolve();
}

export function signUpPage(ctx: PageContext): Promise<void> {
  authForm(ctx, 'signup');
  return Promise.resolve();
}
