/**
 * The one-line error of a test helper whose Debian package is not installed: what is missing and
 * the command that installs it (`npm test` installs it itself when run as root, see
 * bin/provision-test-services.js), so a hook fails at once instead of timing out.
 */
export function missingPackageError(what: string, debianPackage: string): Error {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return new Error(`${what}: run \`${sudo}apt-get install -y ${debianPackage}\` (npm test run as root installs it)`);
}
