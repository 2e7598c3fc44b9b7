// Every figure of one dashboard view, fetched from the results API with the same filters.
import { get, query } from "/web/common/api.js";

export const LOCATIONS_PAGE = 100;

/** The results API's query parameters for the dashboard's filters. */
export function resultQuery(filters, extra = {}) {
  return query({
    wave_id: filters.wave,
    region: filters.region,
    location_id: filters.location,
    channel: filters.channel,
    ...extra,
  });
}

export async function fetchFigures(projectId, filters) {
  const base = `/projects/${projectId}/results`;
  const [summary, phases, steps, locations, regions, trend, painScore, painEmotion, gaps] =
    await Promise.all([
      get(`${base}/summary${resultQuery(filters)}`),
      get(`${base}/phases${resultQuery(filters)}`),
      get(`${base}/steps${resultQuery(filters)}`),
      get(`${base}/locations${resultQuery(filters, { limit: LOCATIONS_PAGE })}`),
      get(`${base}/regions${resultQuery(filters)}`),
      get(`${base}/trend${resultQuery(filters, { by: "wave" })}`),
      get(`${base}/pain-points${resultQuery(filters, { by: "score", limit: 5 })}`),
      get(`${base}/pain-points${resultQuery(filters, { by: "emotion", limit: 5 })}`),
      get(`${base}/gaps${resultQuery(filters)}`),
    ]);
  return { summary, phases, steps, locations, regions, trend, painScore, painEmotion, gaps };
}

/** The next page of the location ranking. */
export function fetchMoreLocations(projectId, filters, cursor) {
  const extra = { limit: LOCATIONS_PAGE, cursor };
  return get(`/projects/${projectId}/results/locations${resultQuery(filters, extra)}`);
}
