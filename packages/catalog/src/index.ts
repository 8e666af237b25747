export {
  type Movie,
  type MovieInput,
  type MovieReader,
  type MovieRepository,
  movieInput,
  movieRepository,
} from './movies.js';
export { movieReadRoute, movieRoutes } from './routes.js';
