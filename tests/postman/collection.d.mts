// Types for collection.mjs (plain JavaScript so that `node` runs it without a build step).

/** Path of the committed cinemaabyss.postman_collection.json. */
export declare const collectionPath: string;
/** Script text defining murmur3(key, seed) and bucketOf(userId), as the collection embeds it. */
export declare const unleashBucket: string;

export interface PostmanScript {
  listen: 'prerequest' | 'test';
  script: { type: string; exec: string[] };
}
export interface PostmanItem {
  name: string;
  description?: string;
  event?: PostmanScript[];
  request?: { method: string; url: string; header: { key: string; value: string }[] };
  item?: PostmanItem[];
}
export interface PostmanCollection {
  info: { name: string; schema: string };
  item: PostmanItem[];
  variable: { key: string; value: string }[];
}

/** The collection as collection.mjs builds it from the contract. */
export declare function buildCollection(): PostmanCollection;
