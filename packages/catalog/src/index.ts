export {
  type Movie,
  type MovieInput,
  type MovieRepository,
  movieInput,
  movieList,
  movieRepository,
} from './movies.js';
export { movieRoutes } from './routes.js';
