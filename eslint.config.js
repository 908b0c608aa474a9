import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".artifacts/", "coverage/", ".tap/", "**/generated/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", Buffer: "readonly", AbortController: "readonly", fetch: "readonly", structuredClone: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "smart"],
      "no-console": "off",
    },
  },
  {
    // The web UI runs in browsers, as plain JavaScript.
    files: ["src/frontend/public/**/*.js"],
    languageOptions: {
      globals: { document: "readonly", window: "readonly", fetch: "readonly", EventSource: "readonly", Option: "readonly", URL: "readonly" },
    },
  },
);
