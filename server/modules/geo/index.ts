export { geoRepo, type StreetRow } from './geo.repo.js';
