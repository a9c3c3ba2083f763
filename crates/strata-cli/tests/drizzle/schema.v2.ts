// The seed's example schema in Drizzle, second version: an options table, an index, a column.
import { bigint, index, integer, jsonb, pgSchema, serial, text, timestamp, varchar } from "drizzle-orm/pg-core";

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
}, (t) => [index("questions_code_idx").on(t.code)]);

export const options = questions.table("options", {
  id: serial("id").primaryKey(),
  questionId: integer("question_id").notNull().references(() => questionsTable.id, { onDelete: "cascade" }),
  label: text("label").notNull(),
  position: integer("position").notNull().default(0),
});

export const analytics = pgSchema("analytics");

export const events = analytics.table("events", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  name: text("name").notNull(),
  payload: jsonb("payload"),
  at: timestamp("at", { withTimezone: true }).defaultNow(),
});
