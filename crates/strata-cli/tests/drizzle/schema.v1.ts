// The seed's example schema in Drizzle, first version.
import { bigint, integer, jsonb, pgSchema, serial, text, timestamp, varchar } from "drizzle-orm/pg-core";

export const questions = pgSchema("questions");

export const batteries = questions.table("batteries", {
  id: serial("id").primaryKey(),
  name: text("name").notNull().unique(),
  prefix: varchar("prefix", { length: 10 }),
});

export const questionsTable = questions.table("questions", {
  id: serial("id").primaryKey(),
  batteryId: integer("battery_id").notNull().references(() => batteries.id),
  code: text("code").notNull(),
  text: text("text").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const analytics = pgSchema("analytics");

export const events = analytics.table("events", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  name: text("name").notNull(),
  payload: jsonb("payload"),
});
