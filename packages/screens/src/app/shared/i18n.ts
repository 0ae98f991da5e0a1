import { EN } from "./messages-en.ts";
import { ES } from "./messages-es.ts";
import type { MessageKey } from "./messages-es.ts";

export type { MessageKey };

export const LANGUAGES = ["es", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

/** localStorage key that remembers the language across visits and reloads. */
const STORAGE_KEY = "mercora.language";

const catalogs: Record<Language, Record<MessageKey, string>> = { es: ES, en: EN };
const listeners = new Set<() => void>();

function storedLanguage(): Language {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    return stored === "en" ? "en" : "es";
  } catch {
    // Storage can be off (private mode); Spanish is the default.
    return "es";
  }
}

let current: Language = storedLanguage();

/** Returns the screen's language: Spanish (es-419) unless the user chose English. */
export function language(): Language {
  return current;
}

/** BCP 47 locale for Intl formatting in the current language. */
export function locale(): string {
  return current === "es" ? "es-419" : "en-US";
}

/** Switches the language, remembers it, and re-renders every screen element. */
export function setLanguage(next: Language): void {
  if (next === current) return;
  current = next;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered; the switch still applies to this page.
  }
  if (globalThis.document) document.documentElement.lang = locale();
  for (const listener of listeners) listener();
}

/** Calls `listener` after every language switch; returns the function that stops it. */
export function onLanguageChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Translates a message key, replacing `{name}` placeholders with `values`. */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = catalogs[current][key] ?? ES[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in values ? String(values[name]) : match));
}

/** True when a message key exists, for codes that come from a server. */
export function hasMessage(key: string): key is MessageKey {
  return key in ES;
}

if (globalThis.document) document.documentElement.lang = locale();

/** Translates a key built at run time (a role, a kind, a reason), or returns the key itself when unknown. */
export function tDynamic(key: string, values: Record<string, string | number> = {}): string {
  return hasMessage(key) ? t(key, values) : key.slice(key.lastIndexOf(".") + 1);
}
