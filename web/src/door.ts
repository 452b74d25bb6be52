const main = document.getElementById('main');
if (main !== null) main.textContent = 'Door';
