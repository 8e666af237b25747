import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envBoolean, envPort, loadConfig } from './config.js';

const schema = z.object({ PORT: envPort.default(8080), ENABLED: envBoolean.default(false) });

describe('loadConfig', () => {
  it('applies defaults and coerces strings', () => {
    expect(loadConfig(schema, {})).toEqual({ PORT: 8080, ENABLED: false });
    expect(loadConfig(schema, { PORT: '9000', ENABLED: 'yes' })).toEqual({ PORT: 9000, ENABLED: true });
  });

  it('names every bad variable and the value it was given', () => {
    const load = () => loadConfig(schema, { PORT: '70000', ENABLED: 'maybe' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PORT: .*got "70000"/);
    expect(load).toThrow(/ENABLED: must be true or false \(got "maybe"\)/);
  });
});
