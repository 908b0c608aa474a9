{{/*
The subjects each NATS user may publish and subscribe to, as JSON; nobody but the server publishes the deny subject.
Generated from src/shared/permissions.ts by `npm run gen-values -- --all`; edit the grants there, not this file.
*/}}
{{- define "meme-generator.natsGrants" -}}
{"users":{"frontend":{"publish":["{request}","{response}.>","$JS.API.INFO","$JS.API.STREAM.INFO.{stream}","$JS.API.CONSUMER.INFO.{stream}.{consumer}","$JS.API.STREAM.MSG.GET.{stream}","$JS.API.STREAM.MSG.DELETE.{stream}"],"subscribe":["{response}.>","meme.workers.heartbeat","$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}","_INBOX.>"]},"worker":{"publish":["$JS.API.INFO","$JS.API.STREAM.INFO.{stream}","$JS.API.CONSUMER.INFO.{stream}.{consumer}","$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}","$JS.ACK.{stream}.{consumer}.>","{response}.>","meme.workers.heartbeat"],"subscribe":["_INBOX.>"]},"provisioner":{"publish":["$JS.API.INFO","$JS.API.STREAM.INFO.{stream}","$JS.API.STREAM.CREATE.{stream}","$JS.API.STREAM.UPDATE.{stream}","$JS.API.CONSUMER.INFO.{stream}.{consumer}","$JS.API.CONSUMER.CREATE.{stream}.>","$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{consumer}"],"subscribe":["_INBOX.>"]},"guide":{"publish":["{request}"],"subscribe":[]}},"deny":"$JS.EVENT.>"}
{{- end }}
