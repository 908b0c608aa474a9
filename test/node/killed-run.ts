// A run of the real node killed before its teardown: the network half made (namespace, veth pair,
// routes, both nftables tables, cgroup root, folder) and a program left running in the namespace.
// The suite starts this, kills it with SIGKILL and shows the next run's cleanup removes it all.
import { spawn } from "node:child_process";
import { RealNode } from "./node.js";

const node = new RealNode();
await node.prepare();
node.seal(1);
const left = spawn("ip", ["netns", "exec", node.netns, "sleep", "600"], { stdio: "ignore", detached: true });
left.unref();
console.log(JSON.stringify({ netns: node.netns, root: node.root, cgroupRoot: node.cgroupRoot, left: left.pid }));
setInterval(() => undefined, 1000);
