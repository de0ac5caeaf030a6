/** Production build for the bench: no telemetry, no image optimisation, no powered-by header. */
const config = { poweredByHeader: false, images: { unoptimized: true } };
export default config;
