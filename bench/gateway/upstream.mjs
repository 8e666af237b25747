// The one upstream every contender proxies to: a small JSON list, like GET /api/movies.
import { createServer } from 'node:http';

const body = JSON.stringify([
  { id: 1, title: 'The Shawshank Redemption', genres: ['Drama'], rating: 9.3 },
  { id: 2, title: 'The Godfather', genres: ['Crime', 'Drama'], rating: 9.2 },
]);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
