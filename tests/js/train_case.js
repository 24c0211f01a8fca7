// Runs nets/playground/web/nn.js on one case from tests/test_playground_js.py (JSON on stdin) and prints the
// parameters, batch norm's state, the bookkeeping and the losses after it as JSON.
const fs = require("fs");
const path = require("path");
const nn = require(path.join(__dirname, "..", "..", "nets", "playground", "web", "nn.js"));

const c = JSON.parse(fs.readFileSync(0, "utf8"));
const net = nn.makeNet(c.spec);
const orders = c.orders.map((o) => Int32Array.from(o));
const run = {
  x: Float64Array.from(c.x), y: Float64Array.from(c.y), n: c.y.length, f1: c.x.length / c.y.length,
  xTest: Float64Array.from(c.x_test), yTest: Float64Array.from(c.y_test), nTest: c.y_test.length,
  batch: c.batch, lr: c.lr, order: Int32Array.from(c.order), position: c.position, epoch: c.epoch, batches: 0,
  shuffle: () => orders.shift(),
};
nn.trainBatches(net, run, c.batches);
const grid = nn.gridInputs(c.features, 5, 6);
const { z, hidden } = nn.forward(net, grid, 25, false);
console.log(JSON.stringify({
  params: Array.from(net.params), bn: net.bn.map((s) => ({ gamma: Array.from(s.gamma), mean: Array.from(s.mean), count: s.count })),
  position: run.position, epoch: run.epoch, batches: run.batches, losses: nn.losses(net, run),
  grid_out: Array.from(nn.outputValues(net, z, 25)), grid_hidden: hidden.map((a) => Array.from(a)),
}));
