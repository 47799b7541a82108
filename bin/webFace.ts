// What `bastion start` and `bastion server` add for the web face, loaded by bin/bastion.ts only
// there: a gateway process and the gateway workers never load express and the routes.
export { startHttp } from '../server/http.ts';
export { ensureWebBuild } from '../server/webBuild.ts';
