#!/usr/bin/env node
// The version check comes before anything else loads, so an old Node gets one line, not a stack trace.
const required = 22;
const major = Number(process.versions.node.split(".")[0]);
if (major < required) {
  console.error(`meme-generator needs Node.js ${required} or newer (this is ${process.version}); the container image runs Node 26.`);
  process.exit(1);
}
const { main } = await import("./main.js");
process.exitCode = await main(process.argv.slice(2));
