// Stand-in for the Workers Rate Limiting binding, loaded by workerd as a wrapped binding (the binding
// itself exists only on Cloudflare and in Miniflare). Like the real one it counts requests per key
// in memory for a fixed period; the bench configures a limit no run reaches, as if every request
// came from a different well-behaved client.
export default function makeLimiter({ limit, period }) {
  const windows = new Map();
  return {
    async limit({ key }) {
      const window = Math.floor(Date.now() / (period * 1000));
      const entry = windows.get(key);
      const count = entry?.window === window ? entry.count + 1 : 1;
      windows.set(key, { window, count });
      return { success: count <= limit };
    },
  };
}
