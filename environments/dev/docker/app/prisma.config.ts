// Prisma 7 reads the connection URL here (schema.prisma no longer holds it). DATABASE_URL comes
// from the environment: in the migration task, ECS injects it from Secrets Manager.
import { defineConfig, env } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: {
    path: "prisma/migrations",
  },
  datasource: {
    url: env("DATABASE_URL"),
  },
});
