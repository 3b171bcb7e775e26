// ESLint (flat config): typescript-eslint's recommended rules and React's hooks rules
// (eslint-plugin-react-hooks' recommended set, the React Compiler's checks included) over src/.
// `scripts/test-ui` runs it; warnings fail it too (`--max-warnings 0`).
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig([
  globalIgnores(["src/api/schema.ts", "src/api/operations.ts"]), // generated
  {
    files: ["src/**/*.{ts,tsx}"],
    extends: [js.configs.recommended, tseslint.configs.recommended, reactHooks.configs.flat.recommended],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
  },
]);
