// The seed's Drizzle Kit configuration, as the import tests use it.
export default {
  dialect: "postgresql",
  schema: "./schema.ts",
  out: "./schema-migrations",
  dbCredentials: { url: process.env.DATABASE_URL },
};
