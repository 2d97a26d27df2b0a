// memlab (a devDependency, for the analysis cross-check) pulls in puppeteer: no browser download.
module.exports = { skipDownload: true }
