/**
 * @mercora/screens: the cashier screen, the manager dashboard and the HQ
 * dashboard, built with lit and vite into `dist/`. Node code imports only
 * `registerScreens`, which serves the built files from a terminal or the
 * relay; the browser code lives in `src/app/`.
 */
export { registerScreens, SCREENS_DIST, SCREEN_PAGES, SCREENS_BASE } from "./server/register-screens.ts";
export type { ScreenPage } from "./server/register-screens.ts";
