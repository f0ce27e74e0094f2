// time.frequency accepts pandas 2.2 spellings (ME, QE, YE, h, min) and the older ones alike;
// the runtime maps either to the installed pandas' own (pyspark-templates frequency.py).
import { describe, expect, it } from 'vitest';
import generated from '../../src/pipeline/schema-validator.generated.js';

const validate = generated as unknown as { (data: unknown): boolean; errors?: Array<{ instancePath: string }> | null };

const frequencyErrors = (frequency: string): unknown[] => {
  validate({
    pipelines: [{ name: 'p', data: { format: 'csv', path: 'x.csv' }, keys: ['k'], target: 'y', task: 'forecast',
      time: { column: 'date', frequency }, model: { type: 'linear' } }],
  });
  return (validate.errors ?? []).filter((e) => e.instancePath.endsWith('/time/frequency'));
};

describe('time.frequency', () => {
  it.each(['ME', 'QE', 'YE', 'h', 'min', 'MS', 'QS', 'YS', 'M', 'Q', 'Y', 'H', 'D', 'W-MON', '2ME', '15min'])('accepts %s', (f) => {
    expect(frequencyErrors(f)).toEqual([]);
  });
  it.each(['MEE', 'me', 'E', '2 D', 'D; rm'])('refuses %s', (f) => {
    expect(frequencyErrors(f)).not.toEqual([]);
  });
});
