/**
 * The catalog and profile attributes the feature views read, each as of
 * one version. The processors keep their versions (`catalog-versions`,
 * store `users`) and hand the one valid at an event's time to the views;
 * responders hand the current one. Declared here so that the views, their
 * writers and their readers share one shape.
 *
 * @example
 * ```ts
 * const attrs: CatalogAttributes = { categories: ['drama'], language: 'en', duration_s: 5400, release_ts: null };
 * const features = itemFeaturesAt(view, event.ts, attrs);
 * ```
 */

/** The catalog attributes features use, as of one version. */
export interface CatalogAttributes {
  readonly categories: readonly string[];
  readonly language: string | null;
  readonly duration_s: number | null;
  readonly release_ts: number | null;
}

/** The profile attributes of one version. */
export interface ProfileVersion {
  readonly country: string | null;
  readonly language: string | null;
  readonly age_bucket: string | null;
  readonly signup_ts: number;
  readonly opt_out: boolean;
}
