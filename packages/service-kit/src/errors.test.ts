import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorHandling, HttpError, parseInput } from './errors.js';

function app() {
  const instance = Fastify();
  instance.register(errorHandling);
  instance.post('/items', async (request) => parseInput(z.object({ n: z.number() }), request.body, 'body'));
  instance.get('/boom', async () => {
    throw new Error('secret detail');
  });
  instance.get('/unavailable', async () => {
    throw new HttpError(503, 'database unavailable');
  });
  instance.get('/teapot', async () => {
    throw new HttpError(418, 'short and stout');
  });
  return instance;
}

describe('errorHandling', () => {
  it('answers invalid input with a 400 naming the field', async () => {
    const res = await app().inject({ method: 'POST', url: '/items', payload: { n: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^body\.n: /);
  });

  it('answers malformed JSON with a 400 JSON error', async () => {
    const res = await app().inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': 'application/json' },
      payload: '{"n":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toHaveProperty('error');
  });

  it('hides unexpected errors behind a bare 500', async () => {
    const res = await app().inject('/boom');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'Internal Server Error' });
  });

  it('keeps the status and message of an HttpError', async () => {
    const res = await app().inject('/teapot');
    expect(res.statusCode).toBe(418);
    expect(res.json()).toEqual({ error: 'short and stout' });
  });

  it('keeps the message of a deliberate 5xx HttpError', async () => {
    const res = await app().inject('/unavailable');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: 'database unavailable' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await app().inject('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toContain('/nope');
  });
});
