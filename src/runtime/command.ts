/**
 * Which local process stands in for a container: the pod template's `skiff.dev/command`
 * annotation (argv relative to the working directory, the container's `args` appended), else
 * the image map's entry for the container's image; plus the image's tools for `skiff exec`.
 */
import { isAbsolute, join } from 'node:path';
import { commandFor, findImage } from './image-map.js';
import type { Container } from '../api/kinds/kube/container.js';
import { defaultImageMap, installRoot } from './install.js';
import type { ImageMap } from './types.js';

export const COMMAND_ANNOTATION = 'skiff.dev/command';

/**
 * Why a container cannot start, as the STATUS kubectl shows for a waiting container:
 * `ImageNotMapped` (nothing says which local program stands for its image, as a kubelet's
 * ErrImageNeverPull when the image is not on the node), `CreateContainerConfigError` (its env or
 * command cannot be built).
 */
export type WaitingReason = 'ImageNotMapped' | 'CreateContainerConfigError';

/** A container that cannot start until its config changes, with the reason its pod waits. */
export class ContainerConfigError extends Error {
  constructor(
    readonly reason: WaitingReason,
    message: string,
  ) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface ResolvedCommand {
  argv: string[];
  /** The image's ENV (image map entries); the container's env overrides it. */
  env: Record<string, string>;
  /** Programs "inside the image" for `skiff exec`: name → argv the exec'd arguments are appended to. */
  tools: Record<string, string[]>;
}

/** `node` means the Node.js running Skiff, so apps run on the same version wherever it is installed. */
function nodeToExecPath(argv: string[]): string[] {
  return argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv;
}

/** The image map's paths are relative to the Skiff installation, wherever the apps run. */
function fromInstall(argv: readonly string[]): string[] {
  return nodeToExecPath(argv.map((a, i) => (i > 0 && a.includes('/') && !a.startsWith('-') && !isAbsolute(a) ? join(installRoot, a) : a)));
}

/** Tools of `image`: the image map's, else (no map given) those of the installation's samples/images.yaml. */
export function toolsFor(image: string | undefined, images: ImageMap | undefined): Record<string, string[]> {
  if (image === undefined) return {};
  const entry = findImage(images ?? defaultImageMap(), image) ?? (images === undefined ? undefined : findImage(defaultImageMap(), image));
  const out: Record<string, string[]> = {};
  for (const [name, argv] of Object.entries(entry?.tools ?? {})) out[name] = fromInstall(argv);
  return out;
}

/**
 * The argv and image env for `container`. Throws with a message saying how to fix it when
 * neither an annotation nor the image map gives a command.
 */
export function resolveCommand(annotations: Readonly<Record<string, string>>, container: Container, images: ImageMap | undefined, where: string): ResolvedCommand {
  const tools = toolsFor(container.image, images);
  const annotated = annotations[COMMAND_ANNOTATION];
  if (annotated !== undefined) {
    const argv = annotated.split(/\s+/).filter((a) => a !== '');
    if (argv.length === 0) throw new Error(`${where}: annotation ${COMMAND_ANNOTATION} is empty`);
    return { argv: nodeToExecPath([...argv, ...(container.args ?? [])]), env: {}, tools };
  }
  const image = container.image;
  if (image === undefined) throw new Error(`${where}: container "${container.name}" has no image and the pod template no ${COMMAND_ANNOTATION} annotation`);
  const entry = images === undefined ? undefined : findImage(images, image);
  if (entry === undefined) {
    const hint = images === undefined ? 'give an image map that maps it (skiff up --images FILE, as samples/images.yaml does)' : 'add it to an image map given with skiff up --images FILE (the default is samples/images.yaml)';
    throw new ContainerConfigError('ImageNotMapped', `${where}: no local command for image ${image}: ${hint}, or annotate the pod template with ${COMMAND_ANNOTATION}: "<program and arguments>"`);
  }
  const argv = commandFor(entry, container.args ?? []);
  const fixed = fromInstall(argv.slice(0, entry.command.length));
  return { argv: [...fixed, ...argv.slice(entry.command.length)], env: { ...entry.env }, tools };
}
