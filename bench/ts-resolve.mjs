// Lets `node` run the TypeScript sources and test emulators directly (Node 24 strips types):
// a relative `./x.js` import from a .ts file resolves to `./x.ts` when that file exists.
//   node --import ./bench/ts-resolve.mjs bench/azureml-registration.ts
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(candidate))) return next(candidate.href, context);
    }
    return next(specifier, context);
  },
});
