// What a typical first attempt looks like: Express + http-proxy-middleware with a random split.
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

const { PORT, MONOLITH_URL, MOVIES_SERVICE_URL, PERCENT } = process.env;
const percent = Number(PERCENT);
const app = express();
app.use(
  createProxyMiddleware({
    pathFilter: '/api/movies',
    target: MONOLITH_URL,
    router: () => (Math.random() * 100 < percent ? MOVIES_SERVICE_URL : MONOLITH_URL),
  }),
);
app.use(createProxyMiddleware({ pathFilter: '/api', target: MONOLITH_URL }));
const server = app.listen(Number(PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
