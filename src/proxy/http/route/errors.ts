/**
 * The error a route configuration that cannot be compiled raises, naming the field path
 * (`virtualHosts[0].routes[2].match[0].uri.regex`) so the snapshot can be NACKed with a reason.
 */
export class RouteConfigError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'RouteConfigError';
  }
}
