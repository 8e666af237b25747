export {
  type Movie,
  type MovieInput,
  type MovieReader,
  type MovieRepository,
  movieInput,
  movieList,
  movieRepository,
} from './movies.js';
export { movieReadRoute, movieRoutes } from './routes.js';
