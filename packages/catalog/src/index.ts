export { type Movie, type MovieInput, type MovieRepository, movieInput, movieRepository } from './movies.js';
export { movieRoutes } from './routes.js';
