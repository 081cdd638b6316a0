# The Go service's make targets, for hands that type them: each is a thin
# wrapper of an npm script (package.json), which is the Node way to run them.
# `make create-migration name=add_colors` → migrations/NNNN_add_colors.ts.

.PHONY: run dev debug rand-user seed migrate-up migrate-down create-migration swagger lint test docker-build docker-up

run:
	npm start
dev:
	npm run dev
debug:
	npm run debug
rand-user:
	npm run rand-user
seed:
	npm run seed
migrate-up:
	npm run migrate:up
migrate-down:
	npm run migrate:down
create-migration:
	@test -n "$(name)" || { echo 'usage: make create-migration name=<name>' >&2; exit 2; }
	npm run migrate:create -- $(name)
swagger:
	npm run swagger
lint:
	npm run lint
test:
	npm test
docker-build:
	npm run docker:build
docker-up:
	npm run docker:up
