import { ErrorNames } from '../../../contracts/errors';
import { DrillGuardError } from '../../../lambda/drill/drill';
import {
  ConfigError,
  ConflictError,
  CrmError,
  DatabaseUnavailableError,
  NotFoundError,
  ValidationError,
} from '../../../lambda/shared/errors';

describe('error names', () => {
  // The name is the errorType Step Functions matches; it must not depend on the (minified) class name.
  it.each<[string, Error, string]>([
    ['CrmError', new CrmError('X', 'm'), ErrorNames.Crm],
    ['ValidationError', new ValidationError('f', 'm'), ErrorNames.Validation],
    ['ConfigError', new ConfigError('f', 'm'), ErrorNames.Config],
    ['NotFoundError', new NotFoundError('m'), ErrorNames.NotFound],
    ['ConflictError', new ConflictError('m'), ErrorNames.Conflict],
    ['DatabaseUnavailableError', new DatabaseUnavailableError('m'), ErrorNames.DatabaseUnavailable],
    ['DrillGuardError', new DrillGuardError('m'), ErrorNames.DrillGuard],
  ])('%s carries its contract name', (className, err, name) => {
    expect(err.name).toBe(name);
    expect(name).toBe(className);
  });

  it('names the class even when the class itself is renamed (as a minifier does)', () => {
    const Renamed = DatabaseUnavailableError;
    Object.defineProperty(Renamed, 'name', { value: 'Wg' });
    try {
      expect(new Renamed('m').name).toBe('DatabaseUnavailableError');
    } finally {
      Object.defineProperty(Renamed, 'name', { value: 'DatabaseUnavailableError' });
    }
  });
});
