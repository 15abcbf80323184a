import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes SQL migrations into drizzle/; the server applies them on start.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/persistence/tables/*.table.ts',
  out: './drizzle',
});
