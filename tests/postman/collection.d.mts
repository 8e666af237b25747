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

/** Per component, the fields whose contract format the original system never checked on input. */
export declare const UNCHECKED_ON_INPUT: Record<string, string[]>;
/** JSON Schemas from the contract's components, plus Health and the lists (Users, Movies, ...). */
export declare function contractSchemas(): Record<string, JsonSchema>;
export interface JsonSchema {
  type?: string;
  format?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}
