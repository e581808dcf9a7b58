/** Where the CLI finds the project's committed files. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROFILES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'profiles');
