-- CreateEnum
CREATE TYPE "AccountStatus" AS ENUM ('ACTIVE', 'SUSPENDED', 'CLOSED');

-- AlterTable: "name" becomes "display_name" (kept data), accounts get a status and an update time.
ALTER TABLE "accounts" RENAME COLUMN "name" TO "display_name";
ALTER TABLE "accounts" ADD COLUMN "status" "AccountStatus" NOT NULL DEFAULT 'ACTIVE',
ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- AlterTable
ALTER TABLE "projects" ADD COLUMN "archived" BOOLEAN NOT NULL DEFAULT false;
