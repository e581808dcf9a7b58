/**
 * One stored version of a resource, as the store returns it and the repository hands it on:
 * the JSON exactly as stored (sent to clients without re-serializing), its version and the
 * patients whose compartment it is in (so every disclosure is audited per patient without
 * reading the resource again).
 */
export interface StoredResource {
  seq: number;
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  /** The resource JSON as stored (with meta); null for a deletion. */
  content: string | null;
  /** Ids of the patients whose compartment this version is in. */
  compartment: string[];
}
